"""English words too common to be worth requiring or scoring (after Lucene's and NLTK's lists,
plus the question words people start a question with). Never required; used only when a query
holds nothing else."""

from __future__ import annotations

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren as at be because been before being
    below between both but by can cannot could couldn did didn do does doesn doing don down during each
    few for from further had hadn has hasn have haven having he her here hers herself him himself his how
    i if in into is isn it its itself just ll me more most mustn my myself no nor not now of off on once
    only or other ought our ours ourselves out over own re s same shan she should shouldn so some such t
    than that the their theirs them themselves then there these they this those through to too under
    until up ve very was wasn we were weren what when where which while who whom why will with won would
    wouldn you your yours yourself yourselves d m o y
    also any anything ever get got let like make many may might much must need one really say said
    shall something tell thing things us way well yet
    """.split()
)
