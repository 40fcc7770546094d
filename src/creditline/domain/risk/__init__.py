"""Risk control: inputs, policy, rules, the decision pipeline and its explanations (pure)."""
