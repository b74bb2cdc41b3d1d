import symbl

connection_object = symbl.Streaming.start_connection()

...

connection_object.conversation.get_topics()
