"""The NLP stage: spaCy, canonical entities and PLOVER event coding."""
