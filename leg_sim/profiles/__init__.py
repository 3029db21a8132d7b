"""Pure physics and behaviour of the houses: PV, household base load, appliances, weather.

Functions take numpy arrays (one entry per house) and plain numbers and return
new arrays. Random state lives in small classes (`CloudField`, `FlexProcess`)
that the simulation owns and seeds.
"""
