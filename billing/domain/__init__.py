"""The pure core: values in, values out. No I/O, no ORM, no wall clock."""
