"""BATCH-1 broken: one bad row (malformed ICCID, bad check digit, someone else's card) rejects the whole template.

Realistic because an upload is naturally validated as a whole before any work starts ("the file has errors, fix and
upload again"); the seed's batch tools instead give every row its own result and run the good ones.
"""

from carriersim.simulator.batch_files import BatchFileError, read_batch
from carriersim.simulator.errors import SimError
from carriersim.simulator.simulation import Simulation

from . import Mutant

_batch = Simulation.batch


def batch(self, account_id, operation, data, filename, *, document=None):
    try:
        rows = read_batch(data, filename, operation)
    except BatchFileError:
        rows = []  # the real batch reports a bad file
    for row in rows:
        problem = row.problem
        if not problem:
            card = self.engine.by_iccid.get(row.iccid)
            if card is None or card.account_id != account_id:
                problem = f"card {row.iccid} not found"
        if problem:  # the bug: the whole file is refused for one bad row
            raise SimError("invalid_batch_file", f"Row {row.row}: {problem}; nothing was done.", status=422)
    return _batch(self, account_id, operation, data, filename, document=document)


MUTANT = Mutant(
    name="batch_all_or_nothing",
    rule="BATCH-1",
    description="A batch template with one bad row (format, check digit, ownership) is refused as a whole; the "
                "good rows are not run.",
    patches=(("carriersim.simulator.simulation.Simulation.batch", batch),),
)
