"""The adversarial suite: a generated corpus of secrets, identity numbers and ordinary look-alikes, run through the
redactor and through every channel of real servers pointed at a hostile upstream."""
