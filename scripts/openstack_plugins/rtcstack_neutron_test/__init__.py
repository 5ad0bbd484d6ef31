"""neutron plugins for the rtcstack OpenStack test control plane: ML2 without any agent."""
