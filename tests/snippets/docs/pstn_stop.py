import symbl

connection_object.stop()
