"""Kafka topics skewless creates: event topics of the synthetic producer and dead-letter topics."""
