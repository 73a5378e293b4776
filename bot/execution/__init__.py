"""Order management: intents → orders, client ids, unknown outcomes, reconciliation, stops."""
