//! SDK-mock tests of the Shield Advanced subscription driver.

mod subscription;
