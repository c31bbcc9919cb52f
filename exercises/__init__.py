"""Your implementation of the kata, one module per stage. Run `kata` to see where you are."""
