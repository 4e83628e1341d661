"""The HTTP layer: request context, the database gateway, error responses, and the routes of each part."""
