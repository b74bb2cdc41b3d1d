import symbl

conversation_id=1234567890 # Update with the conversation Id of your conversation

print(symbl.conversations.get_messages(conversation_id))
