"""Model outputs to tags: vocabulary, rules, thresholds, learned tags, text bank, similarity."""
