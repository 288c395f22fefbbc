"""Upload extraction: objects under uploads/ become JSON under extracted/, which is indexed for search."""
