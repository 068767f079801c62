"""Online feature reads from the command line (the library reader is connectors.cassandra.reader)."""
