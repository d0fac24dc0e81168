"""Stash: GraphQL client, scene selection, write-back, ledger, review, feedback, plugin entry."""
