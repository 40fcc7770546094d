"""Risk policy evaluation: a seeded traffic simulator and a backtest."""
