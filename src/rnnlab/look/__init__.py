"""What looks at a run: eval, predict, sample and export; diagnose; the tutorial's
figure, live or saved; a sweep's heatmaps and report."""
