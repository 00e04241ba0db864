"""Cypher text of topograph, one named ``.cypher`` file per statement.

Installed as ``topograph.cypher`` so the queries ship with the package; the
stores load them by name and always pass user values as parameters.
"""
