"""Training data and model fitting: proxy-JND labels, derived sources, seed-layout reader, train/test."""
