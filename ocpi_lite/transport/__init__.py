"""The OCPI transport layer shared by every module: envelope, errors, auth, headers, paging."""
