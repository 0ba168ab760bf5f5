"""Microsoft Graph v1.0 / beta request handling (router, listing, resources)."""
