"""The facts of the FIT global profile that the activity reader needs, and no more.

Taken from the profile fitdecode 0.11 ships (FIT SDK 21.x); ``tests/unit/test_fit_reader.py``
checks every table here against it. Message and field numbers are the profile's.
"""

from __future__ import annotations

FILE_ID, SESSION, RECORD, HR = 0, 18, 20, 132
FIELD_DESCRIPTION, DEVELOPER_DATA_ID = 206, 207
TIMESTAMP = 253  # the same field number in every message
HR_EVENT_TIMESTAMP, HR_EVENT_TIMESTAMP_12 = 9, 10

# file_id.type value of an activity file.
FILE_ACTIVITY = 4

# session.sport values whose profile names the reader tells apart; every other value, known to
# the profile or not, is some other sport.
SPORT_NAMES = {
    1: "running",
    2: "cycling",
    10: "training",
    11: "walking",
    17: "hiking",
    21: "e_biking",
}

# Names of the fields that decide how developer fields are typed.
DEVELOPER_FIELD_NAMES = {
    DEVELOPER_DATA_ID: {1: "application_id", 3: "developer_data_index"},
    FIELD_DESCRIPTION: {
        0: "developer_data_index",
        1: "field_definition_number",
        2: "fit_base_type_id",
        3: "field_name",
        8: "units",
        15: "native_field_num",
    },
}

# Fields typed as a time: "D" date_time (seconds since 1989-12-31T00:00:00Z, or since power-on
# below 0x10000000), "L" local_date_time, "T" localtime_into_day (seconds into the day).
_TIMESTAMP_ONLY = (
    20, 23, 30, 33, 51, 80, 81, 132, 161, 164, 165, 167, 169, 177, 178, 188, 208, 209, 210, 211,
    216, 258, 268, 269, 275, 285, 289, 290, 297, 302, 304, 305, 306, 307, 308, 314, 315, 317, 319,
    323, 370, 371, 372, 375, 376, 387, 388, 389, 409,
)  # fmt: skip
TIME_FIELDS: dict[int, dict[int, str]] = {
    **{mesg: {TIMESTAMP: "D"} for mesg in _TIMESTAMP_ONLY},
    0: {4: "D"},
    2: {39: "D"},
    3: {28: "T", 29: "T"},
    15: {2: "D", 3: "D"},
    18: {2: "D", 253: "D"},
    19: {2: "D", 253: "D"},
    21: {15: "D", 253: "D"},
    28: {3: "D", 6: "L"},
    32: {1: "D"},
    34: {5: "L", 253: "D"},
    55: {11: "L", 253: "D"},
    72: {4: "D", 253: "D"},
    101: {2: "D", 253: "D"},
    103: {0: "L", 253: "D"},
    128: {9: "D", 253: "D"},
    129: {1: "D", 2: "D", 253: "D"},
    142: {2: "D", 253: "D"},
    160: {6: "D", 253: "D"},
    162: {1: "D", 3: "L", 253: "D"},
    174: {6: "D", 253: "D"},
    187: {1: "D", 3: "D"},
    225: {6: "D", 254: "D"},
    227: {1: "D"},
    229: {0: "D"},
    312: {9: "D", 27: "D"},
    398: {0: "L", 253: "D"},
}

# Fields that expand into components (bit fields of their raw value); True where a component
# accumulates (its value is a running total rebuilt from the low bits).
COMPONENT_FIELDS: dict[int, dict[int, bool]] = {
    18: {14: False, 15: False, 49: False, 50: False, 71: False, 147: False, 148: False, 149: False},
    19: {13: False, 14: False, 42: False, 43: False, 62: False, 147: False, 148: False},
    20: {2: False, 6: False, 8: True, 18: True, 28: True, 99: False},
    21: {2: False},
    55: {24: False},
    80: {2: False},
    81: {2: False},
    101: {24: False, 25: False},
    132: {1: False, 10: True},
    142: {34: False, 35: False, 54: False},
    150: {4: False},
    201: {1: False},
    202: {1: False},
    285: {7: False},
    372: {1: False},
}
