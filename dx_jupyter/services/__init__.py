"""The rules of dx_jupyter, one transaction per operation, with no HTTP in them."""
