"""Full-quality links and the gallery: signed, expiring URLs (signing), the gallery page (gallery) and the
HTTP routes that serve both (routes)."""
