"""The checks over the stored returns: spend and outputs against profile, funds released and paid,
compliance, RAG ratings, the risk register and each day's assessment."""
