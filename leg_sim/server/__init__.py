"""Server glue: start the one shared Simulation per process and serve the dashboard and JSON routes."""
