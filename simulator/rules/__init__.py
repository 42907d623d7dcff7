"""The carrier rules of RULES.md, one module per area; grep a rule id to find where it is enforced.

Every function here takes the engine and a card already looked up and checked for ownership by
``simulator.simulation``; it raises ``SimError`` before it changes anything, and records every effect as an event.
"""
