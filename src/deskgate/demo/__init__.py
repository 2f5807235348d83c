"""Demo helpers: real identity providers that Deskgate's demo command and flow tests start on loopback."""
