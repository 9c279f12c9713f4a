"""Recordings as people have them: our CSV, app exports (MetaBase, Polar Sensor Logger, phyphox, Sensor
Logger), gzip-compressed or zipped, read into one `SampleTable` (docs/formats.md).

One module per format turns its files into the table; `source` turns bytes into text (gzip, zip, binary
refused), `rows` text into numbers (the incomplete last row of an interrupted logger dropped and counted),
`streams` puts a gyroscope onto the accelerometer's stamps, `reading` recognises the format.
"""

from posture.formats.reading import FORMAT_TITLES, FORMATS, detect_format, read_table
from posture.formats.table import SampleTable

__all__ = ["FORMATS", "FORMAT_TITLES", "SampleTable", "detect_format", "read_table"]
