-- DTMF digits received on a call (the IVR number and test-helper callers record them; protocol.md §15).
ALTER TABLE calls ADD COLUMN dtmf_digits TEXT;
