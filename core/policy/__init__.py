"""Server policy: where (and, later, what and how much) each server allows."""
