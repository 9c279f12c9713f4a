"""Column names of the recording CSV (DESIGN "Offline analysis contract"), for the writer and the reader.

Kept free of heavy imports: `posture record` writes these columns without loading the processing core.
"""

TIME_COLUMN = "t_s"
ACC_COLUMNS = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")
GYR_COLUMNS = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
#: The full header, as `posture record` writes it (gyroscope columns are optional on input).
RECORDING_COLUMNS = (TIME_COLUMN, *ACC_COLUMNS, *GYR_COLUMNS)
