"""Fix plans: findings → a reviewable change set (:mod:`.build`, remedies in :mod:`.remedies`), the
plan format (:mod:`.model`), its inputs and placeholders (:mod:`.inputs`), how it reads for people
(:mod:`.render`) and how ``apply`` carries it out (:mod:`.apply`). See docs/plan-format.md."""
