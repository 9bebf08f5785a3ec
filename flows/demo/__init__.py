"""The simulated year of the example programme: scripted leads and officers driving the real jobs day by day."""
