"""The web application's routes, one module per area: the SPARQL protocol, the stored-query API, the pages,
the pictures and the linked data (whose catch-all path is registered last)."""
