"""Pure rules of notify: who receives which event, what the notice says, how it is signed and retried."""
