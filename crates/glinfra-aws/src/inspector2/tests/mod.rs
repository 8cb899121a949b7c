//! SDK-mock tests of the Inspector enabler driver: Enable and Disable of resource
//! types, the waits on BatchGetAccountStatus, adoption of what is enabled.

mod enabler;
