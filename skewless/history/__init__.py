"""`skewless history ...`: maintenance of the views' Iceberg history tables."""
