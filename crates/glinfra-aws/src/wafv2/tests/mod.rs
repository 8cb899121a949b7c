//! SDK-mock tests of the WAF web ACL driver: the request of a create (managed rule
//! groups, visibility, tags), updates and deletes with the lock token, finds by
//! name and ownership tags, WAF's own error codes.

mod web_acl;
