import symbl

stop(connectionId)
