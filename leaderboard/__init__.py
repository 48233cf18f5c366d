"""The leaderboard builder: it knows only result files, never estimators or networks."""
