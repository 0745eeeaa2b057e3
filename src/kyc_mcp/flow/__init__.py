"""The documented order of both KYC flows, as data the operations table refers to: facts a call can prove,
the effects that record them, the requirements a call must meet, and the upstream reads that prove them."""
