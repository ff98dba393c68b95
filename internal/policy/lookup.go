package policy

// RuleLevel returns the level of the rule named name, and whether the
// policy has such a rule. An auditor uses it to show that a rule (say,
// login capture) kept its level across policy versions.
func (p *Policy) RuleLevel(name string) (Level, bool) {
	if p == nil {
		return "", false
	}
	for _, o := range p.overrides {
		for _, r := range o.rules {
			if r.name == name {
				return r.d.Level, true
			}
		}
	}
	for _, r := range p.rules {
		if r.name == name {
			return r.d.Level, true
		}
	}
	return "", false
}
