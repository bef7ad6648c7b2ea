"""What field staff run to turn a fresh Raspberry Pi into a registered store node (not built yet)."""
