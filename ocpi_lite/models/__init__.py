"""msgspec Structs for the OCPI objects. Modules here import nothing of ocpi_lite but each other."""
