"""Demo only: the eight demo systems with their fake data (seeding, fixtures), the SendGrid
stub and its inbox reader, fault injection. Production code never imports this package
(tests/test_boundaries.py); the composition root plugs it in."""
