"""What a run leaves for people to look at: the run folder, plots, reports."""
