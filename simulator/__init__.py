"""carriersim's simulator: a deterministic multi-carrier IoT connectivity platform on a virtual clock.

    from carriersim import Simulation
    sim = Simulation(seed=1)
"""

from .errors import ProfileError, SimError
from .model import Reason, State
from .profile import CarrierProfile, builtin_profile, builtin_profiles, load_profile
from .simulation import Simulation

__all__ = ["Simulation", "SimError", "ProfileError", "CarrierProfile", "load_profile", "builtin_profile",
           "builtin_profiles", "State", "Reason"]
