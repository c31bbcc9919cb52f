"""The kata's machinery: the stage registry, the `kata` command, the training run and its helpers."""
